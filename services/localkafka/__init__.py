"""A real Apache Kafka broker for machines without Docker, and the choice of which broker to use."""
