/** What other packages reuse of the benchmarks: the open-loop arrival schedule and the lean HTTP/1.1 client. */
export { ArrivalSchedule } from './full-path/load';
export { HttpPool, type HttpResponse } from './full-path/http-client';
