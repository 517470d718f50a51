/** Nest token: true when this worker starts as a standby (FUNCTIONS_STANDBY=1). */
export const STANDBY = Symbol('STANDBY');
