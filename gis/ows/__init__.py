"""OGC web services (the classic, XML-speaking ones) for geoportals and older GIS clients: WFS 2.0.0 on top of
the same feature reads as OGC API - Features."""
