"""The cycle that runs the stages in order: poll due feeds, parse (in a worker pool), ingest into
storage (stage 4, store) and hand the alerts to delivery."""
