"""Monitoring (`los monitor`, CONTRACT §8): is a model still right for each site and group?

Compares a recent window of admissions with a reference window, per target and per segment:
input and score drift (`drift`), performance estimated without labels from the calibrated
probabilities (`estimate`), realised performance where labels have arrived (`realised`), alerts
in plain words (`alerts`), put together in `monitor` and written by `report`.
"""
