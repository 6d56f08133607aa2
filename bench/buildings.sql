-- ~200,000 illustrative building footprints over the city polygon of `kota`, generated in SQL with a fixed
-- seed: rotated rectangles 8-20 m long on a jittered grid (metres in UTM 47N, EPSG:32647), stored in 4326
-- with the stored Web Mercator copy and GiST indexes PetaKota's layer tables have. Run by bench/run.py in
-- one transaction; psql variable :n is the number of buildings.
SET max_parallel_workers_per_gather = 0;  -- so that setseed() makes the same rows every time
SELECT setseed(0.2024);
DROP TABLE IF EXISTS buildings;
CREATE TABLE buildings (
  id serial PRIMARY KEY,
  jenis text,
  lantai integer,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857 geometry GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);
WITH city AS (
  SELECT ST_Transform(geom, 32647) AS g FROM kota ORDER BY id LIMIT 1
), grid AS (  -- cell size so that about 2% more than :n centres fall inside the city
  SELECT g, sqrt(ST_Area(g) / (:n * 1.02)) AS s, ST_XMin(g) AS x0, ST_YMin(g) AS y0, ST_XMax(g) AS x1,
         ST_YMax(g) AS y1 FROM city
), centres AS (
  SELECT i, j, random() AS pick, x0 + (i + 0.5) * s + (random() - 0.5) * 0.3 * s AS x, y0 + (j + 0.5) * s + (random() - 0.5) * 0.3 * s AS y,
         8 + random() * 12 AS len, random() AS w, random() * pi() AS angle, random() AS kind, random() AS floors, g
  FROM grid, generate_series(0, ceil((x1 - x0) / s)::int) AS i, generate_series(0, ceil((y1 - y0) / s)::int) AS j
), inside AS (  -- exactly :n of the centres inside the city, picked at random, stored in grid order
  SELECT * FROM (SELECT *, row_number() OVER (ORDER BY pick) AS rn FROM centres
                 WHERE ST_Intersects(g, ST_SetSRID(ST_MakePoint(x, y), 32647))) c
  WHERE rn <= :n
)
INSERT INTO buildings (jenis, lantai, geom)
SELECT CASE WHEN kind < 0.70 THEN 'rumah' WHEN kind < 0.82 THEN 'ruko' WHEN kind < 0.90 THEN 'gudang'
            WHEN kind < 0.95 THEN 'kantor' WHEN kind < 0.98 THEN 'sekolah' ELSE 'rumah_ibadah' END,
       1 + floor(power(floors, 3) * 4)::int,
       ST_Multi(ST_Transform(ST_Rotate(
         ST_MakeEnvelope(x - len / 2, y - len * (0.3 + 0.3 * w), x + len / 2, y + len * (0.3 + 0.3 * w), 32647),
         angle, x, y), 4326))
FROM inside ORDER BY i, j;
CREATE INDEX idx_buildings_geom ON buildings USING gist (geom);
CREATE INDEX idx_buildings_geom_3857 ON buildings USING gist (geom_3857);
-- the triggers a layer created through PetaKota's admin API has (added after the bulk load)
CREATE TRIGGER buildings_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON buildings
  FOR EACH STATEMENT EXECUTE FUNCTION petakota_notify_change();
CREATE TRIGGER buildings_version BEFORE UPDATE ON buildings FOR EACH ROW EXECUTE FUNCTION petakota_bump_version();
CREATE TRIGGER buildings_history AFTER INSERT OR UPDATE OR DELETE ON buildings
  FOR EACH ROW EXECUTE FUNCTION petakota_record_history();
