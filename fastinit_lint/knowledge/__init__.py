"""What Lightning and torch do, as data: strategy and precision names, nn constructor sizes."""
