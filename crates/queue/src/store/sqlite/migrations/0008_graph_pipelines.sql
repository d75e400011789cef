-- Graph pipelines: the items of a mapped step, counted per run and step (the last item's
-- completion starts the step's own job, which joins the items' outputs).
CREATE TABLE specline_run_maps (
  run_id INTEGER NOT NULL REFERENCES specline_runs (id) ON DELETE CASCADE,
  step   INTEGER NOT NULL,
  items  INTEGER NOT NULL,
  done   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step)
);
