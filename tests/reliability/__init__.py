"""Reliability suite: fuzzing, load, security and fault tests against a real `los serve`."""
