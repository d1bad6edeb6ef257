"""Monitoring (`los monitor`, CONTRACT §8): is a model still right for each site and group?

Compares a recent window of admissions with a reference window (`windows`), per target and per
segment (`segments`): input and score drift (`drift`), performance estimated without labels from
the calibrated probabilities (`estimate`), realised performance where labels have arrived
(`realised`), whether the estimate's accuracy can be judged against them (`accuracy`), weekly
series (`series`). `monitor` holds one run's windows and figures, `assess`
decides the alerts (`alerts` words them) and builds monitor.json; `report` writes it with
monitor.html (`charts`). docs/monitoring.md explains the methods and how they were tested.
"""
