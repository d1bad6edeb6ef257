"""Parts of the synthetic admissions generator (`features.generate`): reference tables, the
patient pool, the spell simulation and the label model."""
