"""The blind customer-text test set: frozen texts and labels, and their recorded evaluation."""
