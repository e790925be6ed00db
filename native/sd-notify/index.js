'use strict';
// sd_notify(3) without libsystemd: see src/sd_notify.c.
const binding = require('./build/Release/sd_notify.node');

exports.notify = binding.notify;
exports.monotonicUsec = binding.monotonicUsec;
