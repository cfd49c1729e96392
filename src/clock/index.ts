export { type Clock, SystemClock, VirtualClock, systemClock } from './clock.js';
export { type Scheduler, type TimerHandle, type TimerOptions, SchedulerError, VirtualScheduler, systemScheduler } from './scheduler.js';
