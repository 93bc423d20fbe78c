//! casbin policies: who may call what, and the highest tier each enquiry may see of each item.
