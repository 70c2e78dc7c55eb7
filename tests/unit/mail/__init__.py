"""Unit tests of transactional e-mail against a local aiosmtpd sink."""
