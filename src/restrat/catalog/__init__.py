"""Reference catalog: elements, oxide/metal factors, chain stages, product forms, HS codes, reference data."""
