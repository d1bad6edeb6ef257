"""One router per resource: health and metrics, models, scoring, the risk list."""
