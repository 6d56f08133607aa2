"""The system of record: the layer catalog, feature reads and writes with their history, keys and roles, CQL2,
imports (boundaries, layers, the sample city) and change notifications."""
