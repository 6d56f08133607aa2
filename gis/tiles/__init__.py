"""Vector tiles (MVT made by PostGIS), raster tiles and statistics (COGs via rio-tiler), PMTiles export."""
