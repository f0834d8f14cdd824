"""Image analysis of seller photos: safe decoding, OCR, ID-document and face detection, masked results."""
