"""Certification programs, certificates and their lifecycle, PDFs and public verification."""
