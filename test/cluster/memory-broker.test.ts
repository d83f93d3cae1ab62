import { MemoryBroker } from '../../src/cluster/memory-broker.js';
import { describeBroker } from './broker-contract.js';

describeBroker('MemoryBroker', async () => new MemoryBroker());
