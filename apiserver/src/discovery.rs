//! Discovery documents: legacy (`/api`, `/apis`, `/apis/<g>/<v>`) and aggregated v2.
