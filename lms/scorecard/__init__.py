"""The partner scorecard: readiness beside the metrics that come from elsewhere."""
