"""The customer-text dev set the CX lexicon was developed against, and its evaluation."""
