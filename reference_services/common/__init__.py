"""What every reference service shares: settings, metrics, resilience, health, problems, the app factory."""
