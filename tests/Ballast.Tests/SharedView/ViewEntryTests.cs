using System.Text;
using Ballast.SharedView;

namespace Ballast.Tests.SharedView;

/// <summary>Strict parsing of view records: whatever wrote them, only a well-formed, bounded record counts.</summary>
public sealed class ViewEntryTests
{
    [Theory]
    [InlineData("7 D 1700000000000 ab12cd34", 7, true)]
    [InlineData("1 U 0 -", 1, false)]
    [InlineData("4503599627370496 U 0 w", ViewEntry.MaxEpoch, false)]
    public void A_well_formed_record_is_read(string text, long epoch, bool down)
    {
        Assert.True(ViewEntry.TryDecode(Encoding.ASCII.GetBytes(text), out var entry));
        Assert.Equal(epoch, entry.Epoch);
        Assert.Equal(down, entry.IsDown);
        Assert.Equal(text, Encoding.ASCII.GetString(entry.Encode()));
    }

    [Theory]
    [InlineData("9223372036854775807 U 0 forger")] // long.MaxValue: Next() would overflow
    [InlineData("4503599627370497 U 0 w")] // one past MaxEpoch
    [InlineData("99999999999999999999 U 0 w")] // past long
    [InlineData("0 U 0 w")] // epoch 0 is "no record", never written
    [InlineData("-1 U 0 w")]
    [InlineData("+1 U 0 w")]
    [InlineData("01 U 0 w")]
    [InlineData("1 X 0 w")]
    [InlineData("1 U 0")]
    [InlineData("1 U 0 w extra")]
    [InlineData("1  U 0 w")]
    [InlineData("1 U 0 w\r\n")]
    [InlineData("1 U 0 w\u0000")]
    [InlineData("1 U 0 wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww")] // 33-character writer
    [InlineData("")]
    public void Anything_else_is_not_a_record(string text)
        => Assert.False(ViewEntry.TryDecode(Encoding.Latin1.GetBytes(text), out _));

    [Fact]
    public void A_megabyte_of_writer_text_is_refused_before_it_is_decoded()
        => Assert.False(ViewEntry.TryDecode(Encoding.ASCII.GetBytes("1 U 0 " + new string('w', 1024 * 1024)), out _));

    [Fact]
    public void The_epoch_after_the_largest_stays_bounded()
        => Assert.Equal(ViewEntry.MaxEpoch, new ViewEntry(ViewEntry.MaxEpoch, true, 0, "w").Next(false, 0, "w").Epoch);

    [Fact]
    public void Writer_text_is_escaped_and_cut_when_shown()
    {
        Assert.Equal("a\\x0Ab\\x1B[31m", ViewEntry.Shown("a\nb\u001b[31m"));
        Assert.Equal(new string('w', ViewEntry.MaxWriterLength) + "...", ViewEntry.Shown(new string('w', 1000)));
    }
}
