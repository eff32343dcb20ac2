"""Training and scoring of extraction models (NER, relation extraction)."""
