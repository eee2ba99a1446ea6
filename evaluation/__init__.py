"""Evaluation data, generators and scoring scripts: kept out of the production packages."""
