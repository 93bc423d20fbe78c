//! The MASH broker: enquiries, agency checks, proportionate disclosure and the disclosure log.
