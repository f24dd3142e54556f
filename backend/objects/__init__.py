"""Object stores of attachment bytes by content hash: the filesystem (default) and the S3 API."""
