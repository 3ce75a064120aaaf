// Receive counters: declared with the receive path (vrrp/receive.ts), re-exported for the status
// API and its tests.
export { newRxStats, type RxStats, type SocketRxStats } from '../vrrp/receive.js';
