"""Technology innovation system: R&D projects, cooperation, patents, industrialisation and technology export control."""
