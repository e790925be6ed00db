// Loads the addon. Load @confluentinc/kafka-javascript first: the dynamic loader then binds
// this addon's librdkafka.so.1 to the binding's copy (one librdkafka per process).
'use strict';
module.exports = require('./build/Release/logship_native.node');
