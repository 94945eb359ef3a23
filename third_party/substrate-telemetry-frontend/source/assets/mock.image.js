// loading images gives back a path. This is what we replace
// that with for tests:
module.exports = 'test-image-stub';
