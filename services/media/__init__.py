"""The media service: uploads, S3 objects, spec checks, transcoding workers, renditions, subtitles."""
