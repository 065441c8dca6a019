"""The hospital: admission and discharge notifications in, the admission hand-off out."""
