"""What stands between every interface and HTTP: error handling and response headers."""
