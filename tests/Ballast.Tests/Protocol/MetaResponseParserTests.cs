using System.Text;
using Ballast.Protocol;

namespace Ballast.Tests.Protocol;

public sealed class MetaResponseParserTests
{
    [Theory]
    [InlineData("HD c5 O7\r\n", (int)MetaResponseCode.Header)]
    [InlineData("EN\r\n", (int)MetaResponseCode.End)]
    [InlineData("NS\r\n", (int)MetaResponseCode.NotStored)]
    [InlineData("EX O1\r\n", (int)MetaResponseCode.Exists)]
    [InlineData("NF\r\n", (int)MetaResponseCode.NotFound)]
    [InlineData("MN\r\n", (int)MetaResponseCode.NoOp)]
    [InlineData("OK\r\n", (int)MetaResponseCode.Ok)]
    [InlineData("END\r\n", (int)MetaResponseCode.StatsEnd)]
    [InlineData("STAT pid 42\r\n", (int)MetaResponseCode.Stat)]
    [InlineData("VERSION 1.6.18\r\n", (int)MetaResponseCode.Version)]
    [InlineData("ERROR\r\n", (int)MetaResponseCode.Error)]
    [InlineData("CLIENT_ERROR bad data chunk\r\n", (int)MetaResponseCode.ClientError)]
    [InlineData("SERVER_ERROR out of memory\r\n", (int)MetaResponseCode.ServerError)]
    public void Status_lines_parse_to_their_code(string text, int code)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        Assert.True(MetaResponseParser.TryParse(bytes, out var response, out var consumed, out _));
        Assert.Equal((MetaResponseCode)code, response.Code);
        Assert.Equal(bytes.Length, consumed);
    }

    [Fact]
    public void A_value_response_carries_its_data_and_flags()
    {
        var bytes = "VA 5 f3 c99 O12 W\r\nhello\r\nEN\r\n"u8.ToArray();
        Assert.True(MetaResponseParser.TryParse(bytes, out var response, out var consumed, out _));
        Assert.Equal(MetaResponseCode.Value, response.Code);
        Assert.Equal("hello", Encoding.ASCII.GetString(response.Value));
        Assert.Equal(3ul, response.GetUInt64Flag((byte)'f'));
        Assert.Equal(99ul, response.GetUInt64Flag((byte)'c'));
        Assert.True(response.HasFlag((byte)'W'));
        Assert.False(response.HasFlag((byte)'Z'));
        Assert.Equal(bytes.Length - 4, consumed);
    }

    [Fact]
    public void An_incomplete_value_asks_for_the_whole_response_size()
    {
        var bytes = "VA 10 f0\r\nhel"u8.ToArray();
        Assert.False(MetaResponseParser.TryParse(bytes, out _, out var consumed, out var needed));
        Assert.Equal(0, consumed);
        Assert.Equal("VA 10 f0\r\n".Length + 10 + 2, needed);
    }

    [Fact]
    public void An_incomplete_line_waits_for_more()
        => Assert.False(MetaResponseParser.TryParse("HD c1"u8.ToArray(), out _, out _, out var needed) || needed != 0);

    [Theory]
    [InlineData("VA abc\r\n")]
    [InlineData("VA 3\r\nabcXY")]
    [InlineData("WHAT\r\n")]
    public void Malformed_responses_are_protocol_errors(string text)
        => Assert.Throws<MemcachedProtocolException>(() => MetaResponseParser.TryParse(Encoding.ASCII.GetBytes(text), out _, out _, out _));

    [Fact]
    public void A_line_that_never_ends_is_refused_instead_of_buffered_forever()
        => Assert.Throws<MemcachedProtocolException>(() => MetaResponseParser.TryParse(new byte[MetaResponseParser.MaxLineLength + 1], out _, out _, out _));

    [Theory]
    [InlineData("HD c5 O7 W\r\n", 'W', true)]
    [InlineData("HD c5 O7 W\r\n", 'Z', false)]
    [InlineData("HD c5W O7\r\n", 'W', false)]
    [InlineData("HD Wc5\r\n", 'W', true)]
    [InlineData("HD k5 c9\r\n", 'c', true)]
    [InlineData("HD \r\n", 'c', false)]
    public void A_flag_counts_only_at_the_start_of_a_token(string line, char flag, bool present)
    {
        Assert.True(MetaResponseParser.TryParse(Encoding.ASCII.GetBytes(line), out var response, out _, out _));
        Assert.Equal(present, response.HasFlag((byte)flag));
    }

    [Fact]
    public void Every_flag_of_a_line_is_found_with_its_token()
    {
        Assert.True(MetaResponseParser.TryParse("VA 2 b f12 c345 t-1 O6 k:key X\r\nhi\r\n"u8.ToArray(), out var response, out _, out _));
        Assert.Equal(12ul, response.GetUInt64Flag((byte)'f'));
        Assert.Equal(345ul, response.GetUInt64Flag((byte)'c'));
        Assert.Equal(-1, response.GetInt64Flag((byte)'t', 0));
        Assert.True(response.TryGetFlag((byte)'k', out var key));
        Assert.Equal(":key", Encoding.ASCII.GetString(key));
        Assert.True(response.HasFlag((byte)'b'));
        Assert.True(response.HasFlag((byte)'X'));
        Assert.False(response.HasFlag((byte)'W'));
        Assert.Equal(0ul, response.GetUInt64Flag((byte)'s'));
    }
}
