//! Strategic merge patch with merge keys from the upstream API definitions.
