"""Configuration: its schema (:mod:`.settings`) and YAML read with FILE:LINE errors
(:mod:`.yamlfile`)."""
