"""The DynamoDB store (dynalite locally, DynamoDB on AWS)."""
