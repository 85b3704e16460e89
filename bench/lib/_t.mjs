import * as f from './frames.mjs';
const a = f.encodeFrame(f.refund()); console.log('allow', a.length, a.subarray(0,5));
const d = f.encodeFrame(f.adminDeny()); console.log('deny', d.length);
console.log(JSON.stringify(f.decodeFrame(a)));
const t = f.freshTemplate(); console.log(t.offsets, f.patchFresh(t, 42).length, f.decodeFrame(f.patchFresh(t, 42)).attributes.request.http.path);
const m = f.mixFrames(); console.log(m.length, m.reduce((s,x)=>s+x.length,0)/m.length);
