"""Running the single-process functions partitioned on a Dask cluster (`los score` and
`los evaluate` with `--scheduler ADDRESS` or `LOS_DASK_SCHEDULER`)."""
