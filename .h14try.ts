import { addRemoteText, removeRemoteText, setDefaultRemoteText } from './src/core/manifest/remoteEdits';
const base = `# Churn model
version: 1
name: churn   # aligned comment

datasets:
  events:
    path: data/raw/events          # file or folder
    description: >-
      Raw click events,
      exported nightly
    tags-like: [ a,b ]
`;
const show = (label: string, t: string) => console.log(`==== ${label}\n${t}<EOF>`);
let t = addRemoteText(base, 'team', { url: 'ssh://storage.example.com/srv/sluice', default: true });
show('add team', t);
t = addRemoteText(t, 'archive', { url: 's3://bucket/sluice', endpoint: 'https://minio:9000', region: 'eu-west-1', default: true });
show('add archive default', t);
t = t.replace('  archive:', '  # the archive\n  archive:');
t = setDefaultRemoteText(t, 'team');
show('default team', t);
t = removeRemoteText(t, 'archive');
show('remove archive', t);
t = removeRemoteText(t, 'team');
show('remove team', t);
console.log(t === base.replace('tags-like','tags-like') ? 'BACK TO BASE' : 'DIFFERS');
const flow = 'version: 1\nremotes: {a: {url: /x, default: true}}   # flow\npipelines: {}\n';
show('flow add', addRemoteText(flow, 'b', { url: '/y', default: true }));
show('empty section', addRemoteText('version: 1\nremotes:\n# later\n', 'b', { url: 'a: b #c' }));
show('no newline', addRemoteText('version: 1', 'b', { url: '/y' }));
show('4 spaces', addRemoteText('version: 1\nremotes:\n    a:\n        url: /x\n', 'b', { url: '/y' }));
show('mid section', removeRemoteText('version: 1\n\nremotes:\n  a:\n    url: /x\n\npipelines: {}\n', 'a'));
