#!/usr/bin/env node
// Builds the freestanding test guests under guests/ into build/guests/ (see guests/README.md).
// Placeholder until the guest build lands.
console.log('build-guests: no guests yet');
