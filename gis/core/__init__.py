"""Infrastructure every other package uses: settings, database engines and migrations, domain errors, CRSs,
COG writing."""
