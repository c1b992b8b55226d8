# Messages of one channel queued together are given to each subscriber in
# one walk, and a subscriber still gets only those published after it
# joined. One JSON-protocol session sends, in one write (so the worker
# reads them in one pass, before it delivers any): publish, publish,
# subscribe, publish, publish. The four messages reach the worker's
# delivery together; the session joined after the second, so it gets the
# third and fourth only, while a subscriber that was there before gets
# all four, in order.
use Test::NgxWs;
use Test::More;
use JSON::PP;

my $json = JSON::PP->new->canonical;

my $ngx = start_nginx(name => 'run marks', http_config => 'ws_zone marks 1m;',
    config => <<'CONF');
    location = /json { ws_listen; ws_protocol json; ws_channels_allow room:*; }
    location = /raw  { ws_listen; ws_subscribe room:x; }
CONF

my $early = ws_connect(uri => '/raw');
my $ws = ws_connect(uri => '/json');

my @requests = (
    { op => 'publish',   channel => 'room:x', data => 'one',   id => 1 },
    { op => 'publish',   channel => 'room:x', data => 'two',   id => 2 },
    { op => 'subscribe', channel => 'room:x',                  id => 3 },
    { op => 'publish',   channel => 'room:x', data => 'three', id => 4 },
    { op => 'publish',   channel => 'room:x', data => 'four',  id => 5 },
);
$ws->send_raw(join '', map {
    Test::NgxWs::Client::encode_frame(op => 1, payload => $json->encode($_))
} @requests);

my (%ack, @delivered);
while (1) {
    my $m = $ws->read_message(10) or last;
    my $o = eval { $json->decode($m->{payload}) } or next;
    if ($o->{op} eq 'ack')     { $ack{ $o->{id} } = $o->{seq} // 0; next }
    if ($o->{op} eq 'message') { push @delivered, "$o->{seq}:$o->{data}" }
    last if $o->{op} eq 'message' && $o->{data} eq 'four';
}

is_deeply([map { $ack{$_} } 1 .. 5], [1, 2, 2, 3, 4],
          'every request acknowledged: the subscribe at number 2');
is_deeply(\@delivered, ['3:three', '4:four'],
          'the session gets only what was published after it joined');

my @early = map { my $m = $early->read_message(10); $m ? $m->{payload} : '' } 1 .. 4;
# a raw subscriber gets the JSON value as published: a JSON string
is_deeply(\@early, [map { qq("$_") } qw(one two three four)],
          'a subscriber from before gets all four, in order');

$_->send_close(1000) for $ws, $early;
check_logs($ngx);

done_testing();
