"""Demo dataset: real reference data plus clearly labelled illustrative enterprises and facilities."""
