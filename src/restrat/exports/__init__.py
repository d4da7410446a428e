"""Export control: classification, dated control list, list review, licences, screening, content rules."""
