"""Media: content-addressed image files, Pillow decoding, the disk quota, and the images carried in reports."""
