"""The reliability and security suite (`make reliability`, reliability/run.py): load, fault, fuzz, concurrent
editors, leak scan and hostile input. The checks are plain functions over a base URL and a SQLAlchemy engine, so
the quick version in tests/test_reliability.py runs the same code against the test server."""
